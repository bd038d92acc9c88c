"""Every registration state change, one function each, in a module per concern.

Each runs in one transaction, locks what it changes, writes one audit event, and refuses an invalid
change with a `RegistrationError` whose message a person can act on. Nothing outside this package
writes registration state, but the messaging wing's outbox (`registration.messaging`), which moves
messages from queued to sent or failed and audits each change in the same way.

Callers import the module they need (`from registration.services.pins import pin_issue`): this package
re-exports nothing, so importing one service never loads the others, and the messaging wing can use
the audit and PIN rules without a circle back through the services that queue its messages.
"""
