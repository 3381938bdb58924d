"""Bad input is a LatentkitError that says what to do; constant codes are notes, not errors."""

from __future__ import annotations

import numpy as np
import pytest

from latentkit.analysis.mig import mig
from latentkit.analysis.validation import (
    bin_factors,
    check_codes_and_factors,
    constant_code_dims,
    split_train_test,
)
from latentkit.errors import LatentkitError

CODES = np.random.default_rng(0).standard_normal((50, 3))
FACTORS = np.column_stack([np.arange(50) % 2, np.arange(50) % 5])


@pytest.mark.parametrize(
    ("codes", "factors", "message"),
    [
        (CODES[:40], FACTORS, "codes have 40 rows but factors have 50"),
        (np.where(np.eye(50, 3) > 0, np.nan, CODES), FACTORS, "NaN or infinite"),
        (np.where(np.eye(50, 3) > 0, np.inf, CODES), FACTORS, "NaN or infinite"),
        (CODES[:, :0], FACTORS, "no code dimensions"),
        (CODES, FACTORS[:, :0], "no factors"),
        (CODES[:, 0], FACTORS, "2-D array"),
        (CODES, np.column_stack([FACTORS[:, 0], np.zeros(50)]), "factor 1 takes a single value"),
    ],
)
def test_bad_input_raises_latentkit_error(codes, factors, message):
    with pytest.raises(LatentkitError, match=message):
        check_codes_and_factors(codes, factors)


def test_continuous_factors_are_refused_with_the_bin_factors_fix():
    with pytest.raises(LatentkitError) as error:
        check_codes_and_factors(CODES, FACTORS + 0.5)
    assert "--bin-factors N" in error.value.fix


def test_whole_numbers_stored_as_floats_are_class_labels():
    _, factors = check_codes_and_factors(CODES, FACTORS.astype(np.float32))
    assert factors.dtype == np.int64
    np.testing.assert_array_equal(factors, FACTORS)


def test_float32_codes_keep_their_dtype():
    codes, _ = check_codes_and_factors(CODES.astype(np.float32), FACTORS)
    assert codes.dtype == np.float32


def test_constant_codes_are_reported_not_refused():
    codes = CODES.copy()
    codes[:, 1] = 3.0
    np.testing.assert_array_equal(constant_code_dims(codes), [1])
    result = mig(codes, FACTORS)
    assert result.mi_matrix[1].tolist() == [0.0, 0.0]
    assert result.notes == ("code 1 is constant: MI 0 with every factor",)


def test_bin_factors_cuts_equal_width_classes_with_the_maximum_in_the_last():
    values = np.array([[0.0, 10.0], [0.49, 10.0], [0.5, 20.0], [1.0, 30.0]])
    np.testing.assert_array_equal(bin_factors(values, 2), [[0, 0], [0, 0], [1, 1], [1, 1]])
    classes = bin_factors(np.random.default_rng(1).uniform(-1, 1, 1000), 4)
    assert set(np.unique(classes)) == {0, 1, 2, 3}
    with pytest.raises(LatentkitError):
        bin_factors(values, 1)


def test_split_takes_the_first_ceil_of_the_fraction_as_training_rows():
    assert split_train_test(10_000) == (slice(0, 8000), slice(8000, 10_000))
    assert split_train_test(11, 0.8) == (slice(0, 9), slice(9, 11))  # ceil(8.8)
    with pytest.raises(LatentkitError, match="no test rows"):
        split_train_test(1)
