"""Who may do what: accounts and roles, sign-in sessions, the sign-in throttle."""
