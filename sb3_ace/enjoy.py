"""``python -m sb3_ace.enjoy``: rl-zoo3's enjoy script (run a trained agent) with ACE's learners registered as
``--algo ace``, ``ace_tqc`` and ``ace_crossq``."""

from rl_zoo3.enjoy import enjoy

from sb3_ace.zoo import register


def main() -> None:
    """Register ACE's learners with rl-zoo3, then run rl-zoo3's enjoy script on this process's command line."""
    register()
    enjoy()


if __name__ == "__main__":
    main()
