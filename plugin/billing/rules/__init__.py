"""Pure billing rules: the plan catalogue and the monthly orders allowance."""
