/* dns.c - bounded DNS look-ups (being written). */
#include <glib.h>
