"""The referral program: codes, landings, attribution, fraud checks (issue: referrals)."""
