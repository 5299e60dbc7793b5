"""ACE: Off-Policy Actor-Critic with Causality-Aware Entropy Regularization."""

from typing import Any, ClassVar

import numpy as np
import torch as th
from stable_baselines3 import SAC
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.utils import polyak_update
from torch.nn import functional as F

from sb3_ace.ace.policies import SAC_TO_ACE_POLICY, ACEPolicy, CausalActor, CnnPolicy, MlpPolicy, MultiInputPolicy
from sb3_ace.common.algorithm import ADDITIONS_PARAMETERS_DOC, ACEAdditions, check_count


class ACE(ACEAdditions, SAC):
    """
    ACE: Off-Policy Actor-Critic with Causality-Aware Entropy Regularization.

    SAC whose entropy term weights each action dimension by its causal effect on the reward, and whose networks
    are softly reset when the actor's gradients go dormant.
    Paper: Ji, Liang et al., ICML 2024, https://arxiv.org/abs/2402.14528

    - Causality-aware entropy: ``log pi_c(a|s) = sum_i w_i * l_i`` replaces ``log pi(a|s)`` in the critic target,
      the actor loss and the temperature loss (:class:`sb3_ace.ace.policies.CausalActor`).
    - The weights ``w = dim(A) * softmax(B[r, a])`` come from a causal model of the most recent transitions, refitted
      on schedule (:class:`sb3_ace.CausalWeightCallback`, :func:`sb3_ace.estimate_causal_weights`).
    - Every ``reset_interval`` gradient updates, actor, critic and target are interpolated towards a fresh
      initialisation and the optimizers cleared, guided by the actor's gradient dormancy
      (:class:`sb3_ace.DormantResetCallback`).

    :meth:`learn` adds both callbacks by itself, unless ``callback=`` already holds one of that class. With all
    weights 1 (``causal_method=None``), ``reset_mode=None`` and ``policy_delay=1``, ACE is SAC, bit for bit. The
    authors' configuration (their networks, update delay, warm-up, action units and estimator) is expressible with the
    arguments below and shipped as ``sb3_ace/hyperparams/ace.yml``.

    :param policy: The policy model to use (MlpPolicy, CnnPolicy, MultiInputPolicy or an ``ACEPolicy`` subclass).
        SAC's policy classes are mapped to ACE's, so ``ACE.load`` takes a model saved by ``SAC``
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
        Note: it is only used when ``replay_buffer_class`` is ``None``, and is not supported for Dict
        observation spaces yet. When passing a custom ``replay_buffer_class``, configure it directly
        with ``replay_buffer_kwargs={"n_steps": ..., "gamma": ...}`` instead.
    :param ent_coef: Entropy regularization coefficient. (Equivalent to
        inverse of reward scale in the original SAC paper.)  Controlling exploration/exploitation trade-off.
        Set it to 'auto' to learn it automatically (and 'auto_0.1' for using 0.1 as initial value)
    :param target_update_interval: update the target network every ``target_network_update_freq``
        gradient steps.
    :param target_entropy: target entropy when learning ``ent_coef`` (``ent_coef = 'auto'``)
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
        :class:`sb3_ace.ace.policies.ACEPolicy`
    :param verbose: Verbosity level: 0 for no output, 1 for info messages (such as device or wrappers used), 2 for
        debug messages
    :param seed: Seed for the pseudo random generators
    :param device: Device (cpu, cuda, ...) on which the code should be run.
        Setting it to auto, the code will be run on the GPU if possible.
    :param policy_delay: the actor, the temperature and the target networks are updated once every ``policy_delay``
        gradient steps, the critics at every step (the authors: 2). The phase is the authors': counted over the whole
        run (``_n_updates``) from the first update, the actor is updated at the updates of (0-based) index
        ``0, d, 2d, ...`` (sb3-contrib's CrossQ, whose ``policy_delay`` ACECrossQ keeps, at ``d - 1, 2d - 1, ...``).
        The default 1 is SAC's schedule
    :param _init_setup_model: Whether or not to build the network at the creation of the instance
    """

    __doc__ += ADDITIONS_PARAMETERS_DOC

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        "MlpPolicy": MlpPolicy,
        "CnnPolicy": CnnPolicy,
        "MultiInputPolicy": MultiInputPolicy,
    }
    learner_policies: ClassVar[dict[type[BasePolicy], type[BasePolicy]]] = SAC_TO_ACE_POLICY
    policy: ACEPolicy
    actor: CausalActor

    def __init__(self, *args: Any, policy_delay: int = 1, **kwargs: Any) -> None:
        self.policy_delay = policy_delay  # before SAC's __init__, which ends by setting up the model (and checking it)
        super().__init__(*args, **kwargs)

    def _check_ace_settings(self) -> None:
        check_count("policy_delay", self.policy_delay, 1)
        super()._check_ace_settings()

    def train(self, gradient_steps: int, batch_size: int = 64) -> None:
        """
        ``gradient_steps`` updates of SAC's three losses, with the causal log-probability ``log pi_c`` (paper, eq. 5-7).

        The critics are updated at every step; the actor, the temperature and the target networks at the steps whose
        index over the whole run is a multiple of ``policy_delay``. With ``policy_delay=1`` and all weights 1, this is
        SAC's ``train()``, operation for operation.

        :param gradient_steps: number of gradient updates
        :param batch_size: minibatch size of each update
        """
        self.policy.set_training_mode(True)
        optimizers = [self.actor.optimizer, self.critic.optimizer]
        if self.ent_coef_optimizer is not None:
            optimizers += [self.ent_coef_optimizer]
        self._update_learning_rate(optimizers)

        ent_coef_losses, ent_coefs = [], []
        actor_losses, critic_losses = [], []

        for gradient_step in range(gradient_steps):
            update = self._n_updates  # this update's index over the whole run
            policy_update = update % self.policy_delay == 0  # actor, temperature and target at updates 0, d, 2d, ...
            replay_data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)  # type: ignore[union-attr]
            # For n-step replay, discount factor is gamma**n_steps (when no early termination)
            discounts = replay_data.discounts if replay_data.discounts is not None else self.gamma
            if self.use_sde:
                self.actor.reset_noise()  # log_std may have changed since the last sample

            if policy_update:
                # a ~ pi(.|s) and log pi_c(a|s) = sum_i w_i * l_i, the causality-aware log-probability
                actions_pi, log_prob = self.actor.action_log_prob(replay_data.observations)
                log_prob = log_prob.reshape(-1, 1)  # (batch, 1)

            # Temperature alpha: J(alpha) = -E[log alpha * (log pi_c(a|s) + target_entropy)]
            ent_coef_loss = None
            if self.ent_coef_optimizer is not None and self.log_ent_coef is not None:
                ent_coef = th.exp(self.log_ent_coef.detach())  # detached: the other losses must not move alpha
                if policy_update:
                    assert isinstance(self.target_entropy, float)
                    ent_coef_loss = -(self.log_ent_coef * (log_prob + self.target_entropy).detach()).mean()
                    ent_coef_losses.append(ent_coef_loss.item())
            else:
                ent_coef = self.ent_coef_tensor
            ent_coefs.append(ent_coef.item())
            if ent_coef_loss is not None and self.ent_coef_optimizer is not None:
                self.ent_coef_optimizer.zero_grad()
                ent_coef_loss.backward()
                self.ent_coef_optimizer.step()

            # Critic target: y = r + gamma * (1 - done) * (min_k Q'_k(s', a') - alpha * log pi_c(a'|s')), a' ~ pi(.|s')
            with th.no_grad():
                next_actions, next_log_prob = self.actor.action_log_prob(replay_data.next_observations)
                next_q_values = th.cat(self.critic_target(replay_data.next_observations, next_actions), dim=1)
                next_q_values, _ = th.min(next_q_values, dim=1, keepdim=True)  # (batch, 1)
                next_q_values = next_q_values - ent_coef * next_log_prob.reshape(-1, 1)
                target_q_values = replay_data.rewards + (1 - replay_data.dones) * discounts * next_q_values

            # Critics: J(Q) = sum_k 0.5 * E[(Q_k(s, a) - y)^2]
            current_q_values = self.critic(replay_data.observations, replay_data.actions)
            critic_loss = 0.5 * sum(F.mse_loss(current_q, target_q_values) for current_q in current_q_values)
            assert isinstance(critic_loss, th.Tensor)  # for type checker
            critic_losses.append(critic_loss.item())
            self.critic.optimizer.zero_grad()
            critic_loss.backward()
            self.critic.optimizer.step()

            if policy_update:
                # Actor: J(pi) = E[alpha * log pi_c(a|s) - min_k Q_k(s, a)], a ~ pi(.|s), with the critics just updated
                q_values_pi = th.cat(self.critic(replay_data.observations, actions_pi), dim=1)
                min_qf_pi, _ = th.min(q_values_pi, dim=1, keepdim=True)
                actor_loss = (ent_coef * log_prob - min_qf_pi).mean()
                actor_losses.append(actor_loss.item())
                self.actor.optimizer.zero_grad()
                actor_loss.backward()
                self.actor.optimizer.step()

                # Target networks (SAC's target_update_interval counts the steps of this call)
                if gradient_step % self.target_update_interval == 0:
                    polyak_update(self.critic.parameters(), self.critic_target.parameters(), self.tau)
                    # Copy running stats, see https://github.com/DLR-RM/stable-baselines3/issues/996
                    polyak_update(self.batch_norm_stats, self.batch_norm_stats_target, 1.0)

            self._n_updates += 1

        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/ent_coef", np.mean(ent_coefs))
        self.logger.record("train/critic_loss", np.mean(critic_losses))
        if actor_losses:  # none in a call of only critic updates (policy_delay > 1)
            self.logger.record("train/actor_loss", np.mean(actor_losses))
        if ent_coef_losses:
            self.logger.record("train/ent_coef_loss", np.mean(ent_coef_losses))
