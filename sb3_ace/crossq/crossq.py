"""ACECrossQ: CrossQ (batch normalization, no target network) with ACE's causality-aware entropy and dormancy-guided
soft reset."""

from typing import ClassVar

from sb3_contrib import CrossQ
from stable_baselines3.common.policies import BasePolicy

from sb3_ace.common.algorithm import ADDITIONS_PARAMETERS_DOC, ACEAdditions
from sb3_ace.crossq.policies import CROSSQ_TO_ACE_POLICY, ACECrossQPolicy, CrossQCausalActor, MlpPolicy


class ACECrossQ(ACEAdditions, CrossQ):
    """
    CrossQ with ACE's two additions: a causality-aware entropy and a dormancy-guided soft reset.

    CrossQ: Bhatt et al., "CrossQ: Batch Normalization in Deep Reinforcement Learning for Greater Sample Efficiency
    and Simplicity", ICLR 2024, https://openreview.net/forum?id=PczQtTsTIX (sb3-contrib's implementation).
    ACE: Ji, Liang et al., ICML 2024, https://arxiv.org/abs/2402.14528.

    CrossQ's update is kept as it is (its ``train()``): no target network; ``(s, a)`` and ``(s', a')`` pass jointly
    through the critics' BatchRenorm layers in training mode; the actor and the temperature are updated every
    ``policy_delay`` updates. ACE's causal log-probability ``log pi_c(a|s) = sum_i w_i * l_i`` enters where CrossQ uses
    ``log pi``, through the actor's ``action_log_prob``:

    - critic target: ``y = r + gamma * (1 - done) * (min_k Q_k(s', a') - alpha * log pi_c(a'|s'))``, ``a' ~ pi(.|s')``,
      with ``Q_k(s', a')`` from the joint pass (no target network);
    - actor loss: ``mean(alpha * log pi_c(a|s) - min_k Q_k(s, a))``;
    - temperature loss: ``-mean(log alpha * (log pi_c(a|s) + target_entropy))``.

    The soft reset interpolates the actor and the critics (CrossQ has no critic target) and clears their optimizers;
    of the BatchRenorm layers it interpolates the learned scale and shift and keeps the running statistics (the reason
    is at :func:`~sb3_ace.common.dormancy.soft_reset`). With ``causal_method=None`` and ``reset_mode=None``,
    ACECrossQ is CrossQ, bit for bit.

    :param policy: The policy model to use (MlpPolicy or an ``ACECrossQPolicy`` subclass). CrossQ's policy class is
        mapped to ACECrossQ's, so ``ACECrossQ.load`` takes a model saved by ``CrossQ``
    :param env: The environment to learn from (if registered in Gym, can be str)
    :param learning_rate: learning rate for adam optimizer,
        the same learning rate will be used for all networks (Q-Values, Actor and Value function)
        it can be a function of the current progress remaining (from 1 to 0)
    :param buffer_size: size of the replay buffer
    :param learning_starts: how many steps of the model to collect transitions for before learning starts
    :param batch_size: Minibatch size for each gradient update
    :param gamma: the discount factor
    :param train_freq: Update the model every ``train_freq`` steps. Alternatively pass a tuple of frequency and unit
        like ``(5, "step")`` or ``(2, "episode")``.
    :param gradient_steps: How many gradient steps to do after each rollout (see ``train_freq``)
        Set to ``-1`` means to do as many gradient steps as steps done in the environment
        during the rollout.
    :param action_noise: the action noise type (None by default), this can help
        for hard exploration problem. Cf common.noise for the different action noise type.
    :param replay_buffer_class: Replay buffer class to use (for instance ``HerReplayBuffer``).
        If ``None``, it will be automatically selected.
    :param replay_buffer_kwargs: Keyword arguments to pass to the replay buffer on creation.
    :param optimize_memory_usage: Enable a memory efficient variant of the replay buffer
        at a cost of more complexity.
        See https://github.com/DLR-RM/stable-baselines3/issues/37#issuecomment-637501195
    :param n_steps: When n_step > 1, uses n-step return (with the NStepReplayBuffer) when updating the Q-value network.
    :param ent_coef: Entropy regularization coefficient. (Equivalent to
        inverse of reward scale in the original SAC paper.)  Controlling exploration/exploitation trade-off.
        Set it to 'auto' to learn it automatically (and 'auto_0.1' for using 0.1 as initial value)
    :param target_entropy: target entropy when learning ``ent_coef`` (``ent_coef = 'auto'``)
    :param policy_delay: CrossQ's: the actor and the temperature are updated once every ``policy_delay`` gradient
        updates, the critics at every one. CrossQ counts the updates over the run from 1 and updates the actor after
        the count reaches a multiple: at the updates of (0-based) index ``d - 1, 2d - 1, ...``, its ``d``-th, ``2d``-th,
        ... (ACE's ``policy_delay`` starts at index 0)
    :param use_sde: Whether to use generalized State Dependent Exploration (gSDE)
        instead of action noise exploration (default: False)
    :param sde_sample_freq: Sample a new noise matrix every n steps when using gSDE
        Default: -1 (only sample at the beginning of the rollout)
    :param use_sde_at_warmup: Whether to use gSDE instead of uniform sampling
        during the warm up phase (before learning starts)
    :param stats_window_size: Window size for the rollout logging, specifying the number of episodes to average
        the reported success rate, mean episode length, and mean reward over
    :param tensorboard_log: the log location for tensorboard (if None, no logging)
    :param policy_kwargs: additional arguments to be passed to the policy on creation. See
        :class:`sb3_ace.crossq.policies.ACECrossQPolicy`
    :param verbose: Verbosity level: 0 for no output, 1 for info messages (such as device or wrappers used), 2 for
        debug messages
    :param seed: Seed for the pseudo random generators
    :param device: Device (cpu, cuda, ...) on which the code should be run.
        Setting it to auto, the code will be run on the GPU if possible.
    :param _init_setup_model: Whether or not to build the network at the creation of the instance
    """

    __doc__ += ADDITIONS_PARAMETERS_DOC

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"MlpPolicy": MlpPolicy}
    learner_policies: ClassVar[dict[type[BasePolicy], type[BasePolicy]]] = CROSSQ_TO_ACE_POLICY
    policy: ACECrossQPolicy
    actor: CrossQCausalActor
