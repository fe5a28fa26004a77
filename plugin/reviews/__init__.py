"""Review apps (Judge.me, Yotpo Reviews) awarding the program's ``review`` / ``photo_review`` actions."""
