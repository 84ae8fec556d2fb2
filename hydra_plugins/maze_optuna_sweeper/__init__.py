"""maze_cli's Optuna sweeper for Hydra (``hydra/sweeper=maze_optuna``); Hydra finds it in the hydra_plugins namespace."""
