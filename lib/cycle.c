/* cycle.c - being written. */
#include <glib.h>
