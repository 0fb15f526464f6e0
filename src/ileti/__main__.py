from ileti.cli.main import main

main()
