"""Every responsibility case of section 二: integrator, signer, related parties, first inquiry."""

from __future__ import annotations

from datetime import date

from ticketing.responsibility import ContractView, decide

SELLER_A, SELLER_B, INTEGRATOR, MAKER, DRIVER_VENDOR = 1, 2, 3, 4, 5


def contract(seller: int, integrator: int | None = None, related: tuple[int, ...] = (),
             category: str = "terminal", brand: str | None = "长城", model: str | None = None,
             sold: date = date(2024, 5, 1)) -> ContractView:
    return ContractView(seller, integrator, related, category, brand, model, sold)


def test_the_integrator_leads_when_integration_was_bought() -> None:
    decision = decide([contract(SELLER_A, INTEGRATOR, related=(MAKER,))], "terminal", None, None)
    assert decision is not None
    assert (decision.basis, decision.primary_id) == ("integrator", INTEGRATOR)
    assert decision.secondary_ids == (SELLER_A, MAKER)


def test_who_signed_is_responsible_without_integration() -> None:
    decision = decide([contract(SELLER_A, related=(MAKER, DRIVER_VENDOR))], "terminal", "长城",
                      None)
    assert decision is not None
    assert (decision.basis, decision.primary_id) == ("signed_by", SELLER_A)
    assert decision.secondary_ids == (MAKER, DRIVER_VENDOR)


def test_several_sellers_no_integrator_is_first_inquiry() -> None:
    contracts = [contract(SELLER_A, related=(MAKER,)), contract(SELLER_B, brand="同方")]
    decision = decide(contracts, "terminal", None, None)
    assert decision is not None
    assert (decision.basis, decision.primary_id) == ("first_inquiry", None)
    assert decision.candidates == (SELLER_A, SELLER_B)


def test_the_named_brand_settles_which_seller() -> None:
    contracts = [contract(SELLER_A, brand="长城"), contract(SELLER_B, brand="同方")]
    decision = decide(contracts, "terminal", "同方", None)
    assert decision is not None and (decision.basis, decision.primary_id) == ("signed_by", SELLER_B)


def test_other_categories_and_unknown_units_decide_nothing() -> None:
    assert decide([contract(SELLER_A)], "printer-less", None, None) is None
    assert decide([], "terminal", None, None) is None


def test_the_latest_sale_gives_the_service_period() -> None:
    contracts = [contract(SELLER_A, sold=date(2021, 1, 1)), contract(SELLER_A, model="世恒",
                                                                     sold=date(2024, 1, 1))]
    decision = decide(contracts, "terminal", None, None)
    assert decision is not None and decision.sale_date == date(2024, 1, 1)
