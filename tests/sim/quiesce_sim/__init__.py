"""The Windows twin: simulated Windows Domino hosts for the tests and the demo.

Each host is a directory (volumes, fake tools, config) served by one ``hostd`` daemon
that plays the service control manager, the task scheduler, VSS and the Domino server.
The fake ``*.exe`` files are thin clients that forward argv to that daemon.
"""
