"""``python -m sb3_ace.record_video``: rl-zoo3's record_video script with ACE's learners registered as ``--algo ace``,
``ace_tqc`` and ``ace_crossq``."""

import runpy

from sb3_ace.zoo import register


def main() -> None:
    """Register ACE's learners with rl-zoo3, then run rl-zoo3's record_video script (a ``__main__`` block, no function)."""
    register()
    runpy.run_module("rl_zoo3.record_video", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
