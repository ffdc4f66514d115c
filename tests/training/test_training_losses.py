"""soft_cross_entropy against hand-computed values, and the loss registry."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from training.losses import LOSSES, get_loss, soft_cross_entropy

LN3 = math.log(3.0)  # logits [0, ln 3] give q0 = 1/4, q1 = 3/4


def test_soft_labels_match_hand_computed_values() -> None:
    logits = torch.tensor([[0.0, LN3]])
    # -(0.3 ln 3/4 + 0.7 ln 1/4) = 0.3 * 0.287682 + 0.7 * 1.386294
    assert soft_cross_entropy(logits, torch.tensor([0.3])).item() == pytest.approx(1.0567107, abs=1e-5)
    # -(0.7 ln 3/4 + 0.3 ln 1/4)
    assert soft_cross_entropy(logits, torch.tensor([0.7])).item() == pytest.approx(0.6172658, abs=1e-5)


def test_batch_loss_is_the_mean_of_example_losses() -> None:
    logits = torch.tensor([[0.0, LN3], [0.0, LN3]])
    loss = soft_cross_entropy(logits, torch.tensor([0.3, 0.7]))
    assert loss.item() == pytest.approx((1.0567107 + 0.6172658) / 2, abs=1e-5)


def test_confident_wrong_prediction_costs_more() -> None:
    # logits [2, 0], label 1: -ln(1 / (1 + e^2)) = 2.126928
    loss = soft_cross_entropy(torch.tensor([[2.0, 0.0]]), torch.tensor([1.0]))
    assert loss.item() == pytest.approx(2.126928, abs=1e-5)


def test_hard_labels_equal_cross_entropy() -> None:
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(7, 2, generator=generator) * 3
    hard = torch.tensor([0, 1, 1, 0, 1, 0, 0])
    expected = F.cross_entropy(logits, hard)
    got = soft_cross_entropy(logits, hard.float())
    assert got.item() == pytest.approx(expected.item(), abs=1e-6)


def test_gradient_vanishes_when_prediction_equals_soft_label() -> None:
    # q1 = 3/4 is optimal for p = 3/4, so d loss / d logits = q - p = 0
    logits = torch.tensor([[0.0, LN3]], requires_grad=True)
    soft_cross_entropy(logits, torch.tensor([0.75])).backward()
    assert torch.allclose(logits.grad, torch.zeros(1, 2), atol=1e-6)


def test_bf16_logits_are_upcast() -> None:
    logits = torch.tensor([[0.0, LN3]], dtype=torch.bfloat16)
    loss = soft_cross_entropy(logits, torch.tensor([0.3]))
    assert loss.dtype == torch.float32


@pytest.mark.parametrize(
    ("logits_shape", "labels_shape"),
    [((4, 3), (4,)), ((4,), (4,)), ((4, 2), (3,)), ((4, 2), (4, 1))],
)
def test_bad_shapes_raise(logits_shape: tuple, labels_shape: tuple) -> None:
    with pytest.raises(ValueError, match="shape"):
        soft_cross_entropy(torch.zeros(logits_shape), torch.zeros(labels_shape))


def test_registry_has_xent_and_rejects_unknown_names() -> None:
    assert "xent" in LOSSES
    logits = torch.tensor([[0.0, LN3]])
    assert get_loss("xent")(logits, torch.tensor([0.3]), progress=0.5).item() == pytest.approx(
        1.0567107, abs=1e-5
    )
    with pytest.raises(ValueError, match="unknown loss 'nope'.*xent"):
        get_loss("nope")
