"""``python -m sb3_ace.enjoy``: rl-zoo3's enjoy script (run a trained agent) with ACE registered as ``--algo ace``."""

from rl_zoo3.enjoy import enjoy

from sb3_ace.zoo import register


def main() -> None:
    """Register ACE with rl-zoo3, then run rl-zoo3's enjoy script on this process's command line."""
    register()
    enjoy()


if __name__ == "__main__":
    main()
