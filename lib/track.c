/* track.c - being written. */
#include <glib.h>
