"""ACETQC: TQC (Truncated Quantile Critics) with ACE's causality-aware entropy and dormancy-guided soft reset."""

from typing import ClassVar

from sb3_contrib import TQC
from stable_baselines3.common.policies import BasePolicy

from sb3_ace.common.algorithm import ADDITIONS_PARAMETERS_DOC, ACEAdditions
from sb3_ace.tqc.policies import TQC_TO_ACE_POLICY, ACETQCPolicy, CnnPolicy, MlpPolicy, MultiInputPolicy, TQCCausalActor


class ACETQC(ACEAdditions, TQC):
    """
    TQC with ACE's two additions: a causality-aware entropy and a dormancy-guided soft reset.

    TQC: Kuznetsov et al., "Controlling Overestimation Bias with Truncated Mixture of Continuous Distributional
    Quantile Critics", ICML 2020, https://arxiv.org/abs/2005.04269 (sb3-contrib's implementation).
    ACE: Ji, Liang et al., ICML 2024, https://arxiv.org/abs/2402.14528.

    TQC's update is kept as it is (its ``train()``): ``n_critics`` critics of ``n_quantiles`` quantiles each, trained
    with the quantile Huber loss towards the pooled target quantiles of the critic target, less the
    ``top_quantiles_to_drop_per_net * n_critics`` largest. ACE's causal log-probability
    ``log pi_c(a|s) = sum_i w_i * l_i`` enters where TQC uses ``log pi``, through the actor's ``action_log_prob``:

    - quantile target: ``z_target = r + gamma * (1 - done) * (z'_(k) - alpha * log pi_c(a'|s'))`` for the kept sorted
      quantiles ``z'_(k)`` of ``Z'(s', a')``, ``a' ~ pi(.|s')``;
    - actor loss: ``mean(alpha * log pi_c(a|s) - mean_{n,m} Z_{n,m}(s, a))``;
    - temperature loss: ``-mean(log alpha * (log pi_c(a|s) + target_entropy))``.

    The soft reset interpolates actor, quantile critics and critic target and clears the actor's and critics'
    optimizers, as ACE does with SAC's networks. TQC has no delayed actor update, so ACETQC has no ``policy_delay``.
    With ``causal_method=None`` and ``reset_mode=None``, ACETQC is TQC, bit for bit.

    :param policy: The policy model to use (MlpPolicy, CnnPolicy, MultiInputPolicy or an ``ACETQCPolicy`` subclass).
        TQC's policy classes are mapped to ACETQC's, so ``ACETQC.load`` takes a model saved by ``TQC``
    :param env: The environment to learn from (if registered in Gym, can be str)
    :param learning_rate: learning rate for adam optimizer,
        the same learning rate will be used for all networks (Q-Values, Actor and Value function)
        it can be a function of the current progress remaining (from 1 to 0)
    :param buffer_size: size of the replay buffer
    :param learning_starts: how many steps of the model to collect transitions for before learning starts
    :param batch_size: Minibatch size for each gradient update
    :param tau: the soft update coefficient ("Polyak update", between 0 and 1)
    :param gamma: the discount factor
    :param train_freq: Update the model every ``train_freq`` steps. Alternatively pass a tuple of frequency and unit
        like ``(5, "step")`` or ``(2, "episode")``.
    :param gradient_steps: How many gradient update after each step
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
    :param target_update_interval: update the target network every ``target_network_update_freq``
        gradient steps.
    :param target_entropy: target entropy when learning ``ent_coef`` (``ent_coef = 'auto'``)
    :param top_quantiles_to_drop_per_net: Number of quantiles to drop per network
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
        :class:`sb3_ace.tqc.policies.ACETQCPolicy`
    :param verbose: the verbosity level: 0 no output, 1 info, 2 debug
    :param seed: Seed for the pseudo random generators
    :param device: Device (cpu, cuda, ...) on which the code should be run.
        Setting it to auto, the code will be run on the GPU if possible.
    :param _init_setup_model: Whether or not to build the network at the creation of the instance
    """

    __doc__ += ADDITIONS_PARAMETERS_DOC

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        "MlpPolicy": MlpPolicy,
        "CnnPolicy": CnnPolicy,
        "MultiInputPolicy": MultiInputPolicy,
    }
    learner_policies: ClassVar[dict[type[BasePolicy], type[BasePolicy]]] = TQC_TO_ACE_POLICY
    policy: ACETQCPolicy
    actor: TQCCausalActor
