from nasbench_cli.cli import main

main()
