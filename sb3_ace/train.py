"""
``python -m sb3_ace.train``: rl-zoo3's train script with ACE registered as ``--algo ace``.

It takes every flag of ``python -m rl_zoo3.train`` and runs it, every other rl-zoo3 algorithm included. With
``--algo ace`` and no ``--conf-file``, the hyperparameters come from sb3-ace's files (rl-zoo3 would look for
``ace.yml`` in its own package), chosen by one more flag, ``--hyperparams-family``: ``paper`` (default,
``hyperparams/ace.yml``, the authors' configuration) or ``sac`` (``hyperparams/ace_sac.yml``, rl-zoo3's SAC settings
plus ACE's schedule, for CPUs).
"""

import argparse
import sys

from rl_zoo3.train import train

from sb3_ace.zoo import HYPERPARAMS_FAMILIES, register


def with_ace_hyperparams(argv: list[str]) -> list[str]:
    """
    Command-line arguments with ACE's hyperparameters file added where rl-zoo3 would not find one.

    :param argv: rl-zoo3 train arguments, without the program name, and optionally ``--hyperparams-family
        {paper,sac}`` (which rl-zoo3 does not know: it is taken out)
    :return: ``argv`` without ``--hyperparams-family``, followed by ``--conf-file`` and the family's file
        (:data:`~sb3_ace.zoo.HYPERPARAMS_FAMILIES`) when it asks for ``--algo ace`` and names no conf file
    """
    # Read the options the way rl-zoo3's parser does (``--opt=value`` included); abbreviations off, so that the
    # family flag is only taken out when spelled in full
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--algo")
    parser.add_argument("-conf", "--conf-file")
    parser.add_argument("--hyperparams-family", choices=sorted(HYPERPARAMS_FAMILIES), default="paper")
    known, _ = parser.parse_known_args(argv)
    family_parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    family_parser.add_argument("--hyperparams-family")
    _, rest = family_parser.parse_known_args(argv)
    if known.algo == "ace" and known.conf_file is None:
        return [*rest, "--conf-file", str(HYPERPARAMS_FAMILIES[known.hyperparams_family])]
    return rest


def main() -> None:
    """Register ACE with rl-zoo3, then run rl-zoo3's train script on this process's command line."""
    register()
    sys.argv[1:] = with_ace_hyperparams(sys.argv[1:])
    train()


if __name__ == "__main__":
    main()
