"""Policy and critic sharing their observation encoders (``critic.share_encoders=true``).

With images, the convolutions are most of a network's weights and compute: one encoder trained by
both the policy and the value loss is what CNN agents usually do (Nature-DQN-style PPO). The MLP
trunks and heads stay separate, so each loss still has layers of its own.
"""
from __future__ import annotations

from maze_cli.models.critic import TorchStateCritic
from maze_cli.models.perception import Perception
from maze_cli.models.policy import TorchPolicy


def share_encoders(policy: TorchPolicy, critic: TorchStateCritic) -> None:
    """Points every critic network's encoders at those of the policy network of the same sub-step (agent 0);
    raises naming the network when the two do not read the same keys with default perceptions."""
    for step, key in critic.step_to_key.items():
        critic_net = critic.networks[key]
        policy_net = policy.networks[policy.network_key((step, 0))]
        if not (isinstance(critic_net, Perception) and isinstance(policy_net, Perception)):
            raise ValueError(f"critic.share_encoders: sub-step {step}'s policy and critic networks "
                             f"({type(policy_net).__name__}, {type(critic_net).__name__}) are not default networks "
                             f"with encoders; set critic.share_encoders=false for custom networks")
        if critic_net.in_keys != policy_net.in_keys or \
                [e.out_features for e in critic_net.encoders] != [e.out_features for e in policy_net.encoders]:
            raise ValueError(f"critic.share_encoders: sub-step {step}'s critic reads {critic_net.in_keys}, its policy "
                             f"{policy_net.in_keys} (or encodes them differently); sharing needs the same inputs: set "
                             f"critic.stack_observations=false and the same ignore_keys/image settings on both")
        critic_net.encoders = policy_net.encoders
