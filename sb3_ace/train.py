"""
``python -m sb3_ace.train``: rl-zoo3's train script with ACE's learners registered as ``--algo ace``, ``ace_tqc`` and
``ace_crossq``.

It takes every flag of ``python -m rl_zoo3.train`` and runs it, every other rl-zoo3 algorithm included. With one of
ACE's keys and no ``--conf-file``, the hyperparameters come from sb3-ace's files (rl-zoo3 would look for ``ace.yml``
and the like in its own package):

- ``--algo ace``: chosen by one more flag, ``--hyperparams-family``: ``paper`` (default, ``hyperparams/ace.yml``, the
  authors' configuration) or ``sac`` (``hyperparams/ace_sac.yml``, rl-zoo3's SAC settings plus ACE's schedule, for
  CPUs);
- ``--algo ace_tqc``: ``hyperparams/ace_tqc.yml``, rl-zoo3's TQC settings plus ACE's schedule;
- ``--algo ace_crossq``: ``hyperparams/ace_crossq.yml``, rl-zoo3's CrossQ settings plus ACE's schedule.

``--hyperparams-family`` belongs to ``--algo ace`` alone, without ``--conf-file``: with another algorithm or a conf
file the script stops with an error rather than train with a file the flag did not choose. ``--help`` lists it after
rl-zoo3's flags.

A run of one of ACE's learners stopped by SIGTERM or SIGINT saves what a resumed run needs and exits with status 75;
``-i`` of its model resumes it (:mod:`sb3_ace.preemption`). With ``-i``, the partial files that killed saves left in the
model's folder are removed first.
"""

import argparse
import sys

import rl_zoo3.train
from rl_zoo3.train import train

from sb3_ace.preemption import PreemptibleExperimentManager, clear_partial_files
from sb3_ace.zoo import HYPERPARAMS_FAMILIES, HYPERPARAMS_FILES, register

FAMILY_HELP = f"""
sb3-ace adds:
  --hyperparams-family {{{",".join(sorted(HYPERPARAMS_FAMILIES))}}}
                        --algo ace only, without --conf-file: paper (default, hyperparams/ace.yml, the authors'
                        configuration) or sac (hyperparams/ace_sac.yml, rl-zoo3's SAC settings plus ACE's schedule,
                        for CPUs). --algo ace_tqc and ace_crossq read hyperparams/ace_tqc.yml and ace_crossq.yml.
"""
"""What ``--help`` prints after rl-zoo3's help: the one flag rl-zoo3's parser does not know."""


def with_ace_hyperparams(argv: list[str]) -> list[str]:
    """
    Command-line arguments with ACE's hyperparameters file added where rl-zoo3 would not find one.

    :param argv: rl-zoo3 train arguments, without the program name, and optionally ``--hyperparams-family
        {paper,sac}`` (which rl-zoo3 does not know: it is taken out), for ``--algo ace`` only
    :return: ``argv`` without ``--hyperparams-family``, followed by ``--conf-file`` and the key's file
        (:data:`~sb3_ace.zoo.HYPERPARAMS_FILES`; for ``ace``, the family's, :data:`~sb3_ace.zoo.HYPERPARAMS_FAMILIES`)
        when it asks for ``--algo ace``, ``ace_tqc`` or ``ace_crossq`` and names no conf file
    :raises SystemExit: when ``--hyperparams-family`` comes with an algorithm other than ``ace``, or with a
        ``--conf-file``
    """
    # Read the options the way rl-zoo3's parser does (``--opt=value`` included); abbreviations off, so that the
    # family flag is only taken out when spelled in full
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--algo")
    parser.add_argument("-conf", "--conf-file")
    parser.add_argument("--hyperparams-family", choices=sorted(HYPERPARAMS_FAMILIES))
    known, _ = parser.parse_known_args(argv)
    family_parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    family_parser.add_argument("--hyperparams-family")
    _, rest = family_parser.parse_known_args(argv)
    if known.hyperparams_family is not None and known.algo != "ace":
        raise SystemExit(
            "--hyperparams-family chooses between ACE's two files and applies to --algo ace only (--algo ace_tqc reads "
            "hyperparams/ace_tqc.yml, --algo ace_crossq hyperparams/ace_crossq.yml, rl-zoo3's algorithms rl-zoo3's files)"
        )
    if known.hyperparams_family is not None and known.conf_file is not None:
        raise SystemExit("--hyperparams-family and --conf-file both choose the hyperparameters file: give one of them")
    if known.algo in HYPERPARAMS_FILES and known.conf_file is None:
        conf_file = HYPERPARAMS_FILES[known.algo]
        if known.algo == "ace":
            conf_file = HYPERPARAMS_FAMILIES[known.hyperparams_family or "paper"]
        return [*rest, "--conf-file", str(conf_file)]
    return rest


def trained_agent(argv: list[str]) -> str:
    """The model ``-i`` (``--trained-agent``) names in rl-zoo3 train arguments, ``""`` if none."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("-i", "--trained-agent", default="")
    return parser.parse_known_args(argv)[0].trained_agent


def main() -> None:
    """Register ACE's learners with rl-zoo3, then run rl-zoo3's train script on this process's command line, with
    preemptible runs of ACE's learners."""
    register()
    rl_zoo3.train.ExperimentManager = PreemptibleExperimentManager  # type: ignore[misc]  # what train() builds
    argv = sys.argv[1:]
    if trained_agent(argv):
        clear_partial_files(trained_agent(argv))
    sys.argv[1:] = with_ace_hyperparams(argv)
    try:
        train()
    except SystemExit:
        if "-h" in argv or "--help" in argv:
            print(FAMILY_HELP, end="")
        raise


if __name__ == "__main__":
    main()
