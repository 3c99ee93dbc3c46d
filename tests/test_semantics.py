"""Storage semantics against PyTorch, case by case (the cases: tests/semantics_cases.py)."""
import pytest
import torch

import webdl

import semantics_cases as sc


@pytest.mark.parametrize("name", sorted(sc.CASES))
def test_semantics_like_torch(name):
    fn = sc.CASES[name]
    problem = sc.agree(name, sc.outcome(fn, webdl), sc.outcome(fn, torch))
    assert problem is None, problem
