/* test_linear.c: standalone test of the FP16 / FP32 linear layer (forward, input gradient, weight and
 * bias gradient) on a hand-computed case (integers, exact in FP16), and the argument errors. The int8
 * linear kernels: test_s8.c. Returns the number of failures (0: pass). */
#include <stdio.h>

#include "mcuf_linear.h"
#include "mcuf_check.h"

/* y = x . W^T + b with x [2, 2] = [[1,2],[3,4]], W [3, 2] = [[1,0],[0,1],[1,1]], b = [0,0,1];
 * dy = [[1,0,1],[0,1,0]] -> dx = dy.W = [[2,1],[0,1]], dW = dy^T.x = [[1,2],[3,4],[1,2]], db = [1,1,1]. */
static void linear_case(void)
{
    const mcuf_linear_params p = {2, 2, 3, MCUF_ACC_F32, 0};
    const float x[4] = {1, 2, 3, 4}, w[6] = {1, 0, 0, 1, 1, 1}, b[3] = {0, 0, 1}, dy[6] = {1, 0, 1, 0, 1, 0};
    const float y_ref[6] = {1, 2, 4, 3, 4, 8}, dx_ref[4] = {2, 1, 0, 1}, dw_ref[6] = {1, 2, 3, 4, 1, 2};
    float y[6], dx[4], dw[6], db[3];
    mcuf_f16 xh[4], wh[6], bh[3], dyh[6], yh[6], dxh[4], dwh[6], dbh[3];
    for (int i = 0; i < 6; i++) wh[i] = (mcuf_f16)w[i], dyh[i] = (mcuf_f16)dy[i];
    for (int i = 0; i < 4; i++) xh[i] = (mcuf_f16)x[i];
    for (int i = 0; i < 3; i++) bh[i] = (mcuf_f16)b[i];
    CHECK(mcuf_linear_f32(&p, x, w, b, y) == MCUF_OK, "linear f32");
    CHECK(mcuf_linear_grad_input_f32(&p, dy, w, dx) == MCUF_OK, "linear f32 gin");
    CHECK(mcuf_linear_grad_weight_f32(&p, x, dy, dw, db) == MCUF_OK, "linear f32 gw");
    CHECK(mcuf_linear_f16(&p, xh, wh, bh, yh) == MCUF_OK, "linear f16");
    CHECK(mcuf_linear_grad_input_f16(&p, dyh, wh, dxh) == MCUF_OK, "linear f16 gin");
    CHECK(mcuf_linear_grad_weight_f16(&p, xh, dyh, dwh, dbh) == MCUF_OK, "linear f16 gw");
    for (int i = 0; i < 6; i++) CHECK(y[i] == y_ref[i] && (float)yh[i] == y_ref[i], "linear y[%d]", i);
    for (int i = 0; i < 4; i++) CHECK(dx[i] == dx_ref[i] && (float)dxh[i] == dx_ref[i], "linear dx[%d]", i);
    for (int i = 0; i < 6; i++) CHECK(dw[i] == dw_ref[i] && (float)dwh[i] == dw_ref[i], "linear dw[%d]", i);
    for (int i = 0; i < 3; i++) CHECK(db[i] == 1.0f && (float)dbh[i] == 1.0f, "linear db[%d]", i);
}

static void errors(void)
{
    float x[8] = {0}, out[8];
    const mcuf_linear_params lp = {0, 2, 3, MCUF_ACC_F32, 0};
    CHECK(mcuf_linear_f32(&lp, x, x, NULL, out) == MCUF_ERR_ARG, "linear batch 0");
    const mcuf_linear_params p = {1, 2, 3, MCUF_ACC_F32, 0};
    CHECK(mcuf_linear_f32(&p, NULL, x, NULL, out) == MCUF_ERR_ARG, "NULL x");
    CHECK(mcuf_linear_f32(NULL, x, x, NULL, out) == MCUF_ERR_ARG, "NULL params");
}

int main(void)
{
    linear_case();
    errors();
    printf("test_linear: %d failure(s)\n", failures);
    return failures != 0;
}
