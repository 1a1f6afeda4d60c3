"""``sam-ext audit``: the standing of every deployed function of an account, judged with
the one prediction (:mod:`provider.prediction`): the typed report (:mod:`.report`), the
backend reads (:mod:`.collect`) and the judging (:mod:`.judge`)."""
