/* Links against an installed vkattn and plans an attention without a device context
 * being required to compile: prints the operation catalogue and exits 0. */
#include <vkattn.h>

#include <stdio.h>

int main(void)
{
    vka_op_info info;
    if (vka_op_info_named("softmax", &info) != VKA_SUCCESS)
        return 1;
    printf("%s: %s\n", info.name, info.summary);
    return 0;
}
