"""The EHR's live feed: HL7 v2 ADT and SIU messages over MLLP (docs/hl7.md).

`listener` speaks MLLP and hands each framed message to `services.message_receive`, which stores it,
applies it through the same code as a file import (`registration.ehr_import.importing.batch_apply`) in
the same transaction, and returns the ACK; the listener sends it only after that transaction commits.
"""
