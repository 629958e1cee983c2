/* sleeper_b: the daemon tests' sleeper plugin, same name and version, with
 * different bytes: a file kilnd must see as a new build of 'sleeper' (a hot
 * swap it logs), for the test that removes and recreates a plugin_dir. */
#include "../../daemon/plugins/sleeper.c"

__attribute__((used)) static const char kiln_reliability_variant[] = "sleeper build b";
