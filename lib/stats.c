/* stats.c - being written. */
#include <glib.h>
