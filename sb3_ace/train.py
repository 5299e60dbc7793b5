"""
``python -m sb3_ace.train``: rl-zoo3's train script with ACE registered as ``--algo ace``.

It takes every flag of ``python -m rl_zoo3.train`` and runs it, every other rl-zoo3 algorithm included. With
``--algo ace`` and no ``--conf-file``, the hyperparameters come from sb3-ace's ``hyperparams/ace.yml``: rl-zoo3 would
look for ``ace.yml`` in its own package.
"""

import argparse
import sys

from rl_zoo3.train import train

from sb3_ace.zoo import HYPERPARAMS_FILE, register


def with_ace_hyperparams(argv: list[str]) -> list[str]:
    """
    Command-line arguments with ACE's hyperparameters file added where rl-zoo3 would not find one.

    :param argv: rl-zoo3 train arguments, without the program name
    :return: ``argv``, followed by ``--conf-file`` :data:`~sb3_ace.zoo.HYPERPARAMS_FILE` when it asks for
        ``--algo ace`` and names no conf file (``-conf`` / ``--conf-file``)
    """
    # Read the two options the way rl-zoo3's parser does (abbreviations and ``--opt=value`` included)
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--algo")
    parser.add_argument("-conf", "--conf-file")
    known, _ = parser.parse_known_args(argv)
    if known.algo == "ace" and known.conf_file is None:
        return [*argv, "--conf-file", str(HYPERPARAMS_FILE)]
    return argv


def main() -> None:
    """Register ACE with rl-zoo3, then run rl-zoo3's train script on this process's command line."""
    register()
    sys.argv[1:] = with_ace_hyperparams(sys.argv[1:])
    train()


if __name__ == "__main__":
    main()
