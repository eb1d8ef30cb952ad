from maskscan.cli.main import cli

cli()
