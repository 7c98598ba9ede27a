from nasbench_cli.cli import main

# `python -m nasbench_cli` is the `nasbench` command: the same name in usage lines and the same
# completion variable (_NASBENCH_COMPLETE) as the installed script
main(prog_name="nasbench", complete_var="_NASBENCH_COMPLETE")
