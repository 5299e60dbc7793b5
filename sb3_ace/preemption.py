"""
Preemptible training for ``python -m sb3_ace.train``: a run of one of ACE's learners that gets SIGTERM (a cluster's
preemption) or SIGINT (Ctrl-C) stops at the end of the current env step, saves everything a resumed run needs, and
exits with :data:`PREEMPTED_EXIT_CODE`; run again with ``-i <the saved model>``, it trains the steps left on the
same schedule.

What a preempted run saves into its log folder (``logs/<algo>/<env>_<n>/``), each file atomically:

- ``<env>.zip``: the model (settings, counters, the actor's last dormancy measurement), as at the end of a run;
- ``replay_buffer.pkl``: the replay buffer, with ACE's recent transitions (whatever ``--save-replay-buffer`` says);
- ``<env>/vecnormalize.pkl``: the ``VecNormalize`` statistics, where the run normalizes;
- ``preempted.json``: the run's total budget of env steps and the steps done, which tells a run given ``-i`` that it
  resumes (it keeps the step count, ``reset_num_timesteps=False``, and trains the steps left) rather than fine-tunes
  (rl-zoo3's ``-i``: ``-n`` more steps, counted from 0).

rl-zoo3's other algorithms keep rl-zoo3's behaviour (SIGINT saves the model mid-step, SIGTERM ends the process).
"""

import functools
import json
import os
import signal
from pathlib import Path
from types import FrameType
from typing import Any

from rl_zoo3.exp_manager import ExperimentManager
from stable_baselines3.common.base_class import BaseAlgorithm

from sb3_ace.common.algorithm import ACEAdditions
from sb3_ace.common.saving import remove_orphaned_partial_files, save_atomically

PREEMPTED_EXIT_CODE = 75
"""Exit status of a run stopped by SIGTERM or SIGINT once it has saved (``EX_TEMPFAIL`` of sysexits.h: "try again")."""
PREEMPTION_RECORD = "preempted.json"
"""The file beside a preempted run's model that holds its budget and the steps it had done."""
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def preemption_record(trained_agent: str) -> dict[str, Any] | None:
    """The record a preempted run left beside the model ``trained_agent`` (``None`` for a model saved otherwise)."""
    path = Path(trained_agent).parent / PREEMPTION_RECORD
    return json.loads(path.read_text()) if trained_agent and path.is_file() else None


def clear_partial_files(trained_agent: str) -> None:
    """Remove the partial files killed saves left in the folder of ``trained_agent`` and its subfolders."""
    folder = Path(trained_agent).parent
    for subfolder in [folder, *(path for path in folder.iterdir() if path.is_dir())]:
        for removed in remove_orphaned_partial_files(subfolder):
            print(f"Removed {removed}, the partial file of a save that was killed")


class PreemptibleExperimentManager(ExperimentManager):
    """
    rl-zoo3's ``ExperimentManager`` whose runs of ACE's learners stop cleanly on SIGTERM and SIGINT, save what a
    resumed run needs and exit with :data:`PREEMPTED_EXIT_CODE` (see the module docstring); and whose run given ``-i``
    a preempted run's model resumes it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.resumed = preemption_record(self.trained_agent) if self.continue_training else None
        self.preempted = False

    @property
    def budget(self) -> int:
        """The run's total env steps: a resumed run's, else ``-n`` or the hyperparameters' (known once they are read)."""
        return self.n_timesteps if self.resumed is None else int(self.resumed["n_timesteps"])

    def learn(self, model: BaseAlgorithm) -> None:
        if not isinstance(model, ACEAdditions):
            super().learn(model)
            return
        if self.resumed is not None:  # the steps left, counted on from the saved model's
            print(f"Resuming a preempted run at {model.num_timesteps} of {self.budget} env steps")
            self.n_timesteps = max(self.budget - model.num_timesteps, 0)

        def stop(signum: int, frame: FrameType | None) -> None:
            print(f"{signal.Signals(signum).name}: stopping after this env step, then saving", flush=True)
            self.preempted = True
            model.stop_training()
            for stop_signal, handler in previous.items():  # a second signal acts as it would have
                signal.signal(stop_signal, handler)

        previous = {stop_signal: signal.signal(stop_signal, stop) for stop_signal in STOP_SIGNALS}
        if self.resumed is not None:  # rl-zoo3's learn() passes no reset_num_timesteps: this run's does
            model.learn = functools.partial(model.learn, reset_num_timesteps=False)  # type: ignore[method-assign]
        try:
            super().learn(model)
        finally:
            vars(model).pop("learn", None)
            for stop_signal, handler in previous.items():
                if signal.getsignal(stop_signal) is stop:
                    signal.signal(stop_signal, handler)

    def save_trained_model(self, model: BaseAlgorithm) -> None:
        if not self.preempted:
            super().save_trained_model(model)
            return
        assert isinstance(model, ACEAdditions)
        print(f"Saving the preempted run to {self.save_path}")
        model.save(f"{self.save_path}/{self.env_name}")
        model.save_replay_buffer(os.path.join(self.save_path, "replay_buffer.pkl"))
        if self.normalize:
            vec_normalize = model.get_vec_normalize_env()
            assert vec_normalize is not None
            save_atomically(os.path.join(self.params_path, "vecnormalize.pkl"), "pkl", vec_normalize.save)
        record = {
            "n_timesteps": self.budget,
            "num_timesteps": model.num_timesteps,
            "algo": self.algo,
            "env": str(self.env_name),
        }
        save_atomically(
            os.path.join(self.save_path, PREEMPTION_RECORD), "json", lambda path: path.write_text(json.dumps(record))
        )
        model_path = f"{self.save_path}/{self.env_name}.zip"
        print(f"Preempted at {model.num_timesteps} of {self.budget} env steps: resume with -i {model_path}", flush=True)
        raise SystemExit(PREEMPTED_EXIT_CODE)  # rl-zoo3's train() ends with this save
