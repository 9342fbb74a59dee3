"""``python -m minigen.quality``: retrain both digit judges and overwrite the shipped weights.

Deterministic (``minigen.quality.judge.RECIPE``), about a minute of one core per judge;
prints each judge's test accuracy. The test suite checks the shipped weights reproduce.
"""

from importlib import resources

import numpy as np

from minigen.data import get_dataset
from minigen.quality.judge import (
    JUDGE_DATA,
    judge_outputs,
    save_judge,
    train_judge,
    weights_filename,
)


def main() -> None:
    directory = resources.files("minigen.quality")
    for data_name in JUDGE_DATA:
        judge = train_judge(data_name)
        save_judge(judge, str(directory.joinpath(weights_filename(data_name))))
        images, labels = get_dataset(data_name, "test")
        _, logits = judge_outputs(judge, images)
        print(f"{data_name}: test accuracy {np.mean(logits.argmax(axis=1) == labels):.4f}")


if __name__ == "__main__":
    main()
