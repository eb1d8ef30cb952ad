from maskscan.cli.entry import main

main()
