/* Links against an installed vkattn: the core header and the headers beside it compile
 * and link from the install prefix (<vkattn/io.h> through models.h). Prints an operation's summary and the TNP
 * architecture names, and exits 0. */
#include <vkattn.h>
#include <vkattn/continuous.h>
#include <vkattn/embed.h>
#include <vkattn/models.h>
#include <vkattn/ops.h>

#include <stdio.h>

int main(void)
{
    vka_op_info info;
    if (vka_op_info_named("softmax", &info) != VKA_SUCCESS)
        return 1;
    printf("%s: %s (%s)\n", info.name, info.summary, vka_tnp_arch_name(VKA_TNP_ARCH_TNP));
    double psi[4];
    return vka_continuous_basis(0.5, 4, NULL, 0, psi) == VKA_SUCCESS ? 0 : 1;
}
