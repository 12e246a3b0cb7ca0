/*
 * cli.h - the subcommands besides serve (main.c dispatches to them).
 * Both take the arguments after the subcommand name and return the
 * process exit status.
 */
#ifndef TIXIN_CLI_CLI_H
#define TIXIN_CLI_CLI_H

/* tixin migrate [--database URL]: apply pending schema migrations. */
int cmd_migrate(int argc, char **argv);
/* tixin demo [--database URL] [--profile default|bench] [--out FILE]:
 * seed demo data (see cli/demo.c). */
int cmd_demo(int argc, char **argv);

#endif
