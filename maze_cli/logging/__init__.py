"""Where a run's statistics go: console, stats.csv, TensorBoard, the learning curve. Each is a loop callback."""
from maze_cli.logging.console import LOG_FILE, ConsoleLogger, setup_logging
from maze_cli.logging.csv import STATS_FILE, CsvLogger
from maze_cli.logging.curve import CURVE_FILE, LearningCurve, plot_learning_curve
from maze_cli.logging.tensorboard import TensorBoardLogger

__all__ = ["CURVE_FILE", "LOG_FILE", "STATS_FILE", "ConsoleLogger", "CsvLogger", "LearningCurve", "TensorBoardLogger",
           "plot_learning_curve", "setup_logging"]
