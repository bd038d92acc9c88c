"""The parent portal's pages, one module per journey: a PIN (`pin`), signing up without one
(`sign_up`), the account (`accounts`: confirming the email, signing in, passwords) and home (`home`)."""
