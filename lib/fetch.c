/* fetch.c - being written. */
#include <glib.h>
