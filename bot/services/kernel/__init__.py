"""The bottom floor every use case stands on: what a use case gets (`context`), finds (`lookup`) and returns
(`outcome`); the one way a release changes (`release_state.apply` of a `ReleaseChange`), its card and news
(`release_card`), its scope (`scope`); the follow-ups and job runners features register (`hooks`, `jobs`); refusals
audited on their own (`refusals`); commits that wake waiters (`change_feed`). It imports no feature."""
