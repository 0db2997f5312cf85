/* print_registry.c — prints common/config_registry.c's key list, one per line,
 * for tests/common/test-config-registry.sh. */
#include <stdio.h>

#include "config.h"

int main(void)
{
    cfg_registry_print(stdout);
    return 0;
}
