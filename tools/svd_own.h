/* tools/svd_own.h - the seed's fused-attention SVD analysis (SPEC 4.6-4.9) on a subspace.h
   checkpoint: MHA, MLA and MLA-o layers, and for MLA-o how the heads share the output latent.
   tools/svd_own.c says what is computed and documents own.json. */
#ifndef SS_TOOL_SVD_OWN_H
#define SS_TOOL_SVD_OWN_H

/* Analyse the checkpoint at path (ss pretrain / ss finetune output: a safetensors file whose
   __metadata__ "config" is the model object as JSON). fold_norms nonzero multiplies the RMSNorm
   gains into the columns of the matrices that follow them (attn_input_norm into qkv_proj or
   qkv_a_proj, q_a_norm into q_b_proj, kv_a_norm into kv_b_proj).
   Writes into out_dir, which must exist: own.json (every singular value and principal-angle
   cosine), own_rank.csv (layer, group, matrix, head, max_rank, rank_1pct, rank_0.1pct: the
   columns of cmd_svd.c's effective_rank.csv), own_heads.svg (effective rank of every head) and
   own_angles.svg (how much the heads' output subspaces overlap, layer by layer, against the
   random baseline). Prints a Markdown summary to stdout.
   Returns 0, or prints "ss svd: ..." to stderr and returns -1. */
int svd_own_checkpoint(const char *path, const char *out_dir, int fold_norms);

/* Shared with cmd_svd.c. C (m,n) = A (m,k) B (k,n), or A B^T when bt (B stored (n,k)). */
void svd_matmul(const double *A, const double *B, double *C, int m, int k, int n, int bt);
/* F (k,r), k = min(p,r): X^T = Q F for some Q (p,k) with orthonormal columns, X (r,p). F is the
   R of a Householder QR of X^T when p >= r, else X^T itself. 0, or -1 when out of memory. */
int svd_factor(const double *X, int r, int p, double *F, int *k);

#endif
