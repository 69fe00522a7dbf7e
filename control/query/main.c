/* main.c - tapwatch-query's main: the tool itself is tq_query_main (query.c), which the
 * console (control/console/) also runs, once per question in a child process. */
#include "control/query/query.h"

int main(int argc, char **argv)
{
    return tq_query_main(argc, argv);
}
