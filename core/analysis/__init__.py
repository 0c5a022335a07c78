"""From labels to results: time budgets, transition matrices, observer agreement, ethogram
plots, and the model's scores turned into a coding a person corrects. No Qt here: the CLI
(``ethoscout analyse``, ``ethoscout predict``) and the window's Results panel call the same
functions."""
