"""What a message says, in which language: flows, templates/<locale>, rendering (single and
batch with substitution tags), money/date/points formatting, the context each flow needs,
and the shop/loyalty context every message shares."""
