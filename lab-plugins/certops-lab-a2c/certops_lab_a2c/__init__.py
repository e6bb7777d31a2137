"""certops lab plug-in (GPL-3.0-or-later): acme2certifier as the lab's ACME CA, its own process.

``server`` serves acme2certifier's WSGI application on a loopback port; ``handler`` is the lab's
CA handler that acme2certifier loads by module name. certops (Apache-2.0) never imports this
package: its ``AcmeLab`` starts ``python -m certops_lab_a2c DIR`` and forwards to it over HTTP.
"""
