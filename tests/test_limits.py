"""gan_core.limits: plain-number ranges, parsing typed text against a domain, and the memory bound."""

from __future__ import annotations

import pytest

from gan_core.errors import ConfigError
from gan_core.limits import Domain, check_memory, format_number, sampling_bytes, training_bytes
from gan_core.settings import DOMAINS


def test_ranges_print_in_plain_numbers_never_rounded_to_a_display_format() -> None:
    assert DOMAINS[("train", "lr_g")].range_text == "1e-06 to 1"
    assert DOMAINS[("train", "batch_size")].range_text == "2 to 4,096"
    assert DOMAINS[("train", "ema")].range_text == "0 to 0.9999"
    assert format_number(1e7) == "10,000,000" and format_number(2.5e-4) == "0.00025"


def test_parse_reads_typed_text_and_refuses_what_is_outside_with_the_range() -> None:
    whole, real = Domain("Batch size", 2, 4096, True), Domain("Learning rate", 1e-6, 1.0)
    assert whole.parse(" 4,096 ") == 4096 and isinstance(whole.parse("16"), int) and whole.parse("1e3") == 1000
    assert real.parse("2e-4") == 2e-4 and real.parse("1") == 1.0
    for text, message in (("1", "Batch size must be from 2 to 4,096 (got 1)."),
                          ("2.5", "Batch size must be a whole number from 2 to 4,096 (got 2.5)."),
                          ("lots", "Batch size: 'lots' is not a number; enter one from 2 to 4,096."),
                          ("inf", "Batch size must be a finite number from 2 to 4,096 (got inf).")):
        with pytest.raises(ConfigError) as e:
            whole.parse(text)
        assert str(e.value) == message
    with pytest.raises(ConfigError, match=r"must be a finite number from 1e-06 to 1 \(got nan\)"):
        real.parse("nan")
    with pytest.raises(ConfigError, match=r"Batch size \(train.batch_size\) must be"):
        whole.check("train.batch_size", True)  # a bool is not a number here


def test_the_memory_bound_refuses_before_allocating_and_names_the_fix() -> None:
    need = training_bytes(64, (3, 64, 64), "dcgan", 64)
    assert training_bytes(128, (3, 64, 64), "dcgan", 64) == 2 * need  # linear in the batch
    assert training_bytes(64, (3, 64, 64), "mlp", 64) < need  # MLPs keep far fewer activations
    check_memory("Training", need, budget=2 * need)
    with pytest.raises(ConfigError, match=r"^Training would need about .* MiB of memory, more than the .* MiB this "
                                          r"machine can spare: choose a smaller batch\.$"):
        check_memory("Training", need, budget=need, fix="choose a smaller batch")
    assert sampling_bytes(10, (1, 28, 28), 64) == 10 * (784 + 3 * 30 * 30 + 256)
