try:
    from nasbench_cli.entry import main
except KeyboardInterrupt:  # Ctrl-C before even the entry module loaded: still one line, exit 130
    import sys

    sys.stderr.write("Interrupted.\n")
    sys.exit(130)

main()
