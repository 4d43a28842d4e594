# Reference output of MatchIt for nearest-neighbour Mahalanobis matching inside a propensity-score
# caliper (issue 16) and for the Mahalanobis transform MatchIt matches on. See README_mahvars.md.
#
# Usage (from the repository root, with MatchIt 4.7.2, sandwich and lmtest installed):
#   Rscript tests/reference/matchit/make_mahvars.R tests/reference/matchit/lalonde.csv \
#       tests/reference/matchit
#
# Writes into the output folder:
#   k_nearest_mahvars_caliper025_{units,match_matrix,effect,mahcovs,versions}.csv   (lalonde)
#   k_mahalanobis_full_mahcovs.csv            (lalonde, transform of all seven covariates)
#   k_synth_data.csv, k_synth_{m1,m3,m4,m5}_match_matrix.csv   (simulated data, set.seed(7))

suppressPackageStartupMessages({
  library(MatchIt)
  library(sandwich)
  library(lmtest)
})

args <- commandArgs(trailingOnly = TRUE)
data_path <- if (length(args) >= 1) args[1] else "tests/reference/matchit/lalonde.csv"
out_dir <- if (length(args) >= 2) args[2] else "tests/reference/matchit"

# numbers are written with 17 significant digits (write.csv keeps only 15) and not quoted
num <- function(x) ifelse(is.na(x), NA_character_, sprintf("%.17g", x))
out <- function(x, file) {
  is_num <- function(col) {
    is.numeric(col) || is.logical(col) ||
      all(is.na(col) | grepl("^-?[0-9.]+(e[-+]?[0-9]+)?$", col))
  }
  plain <- vapply(x, is_num, logical(1))
  write.csv(x, file.path(out_dir, file), row.names = FALSE, quote = which(!plain))
}
one_line <- function(x) gsub("\\s+", " ", paste(deparse(x), collapse = " "))
# the covariates transformed as MatchIt's matcher sees them (its first column orders the
# search that breaks exact ties; rounding in the others breaks ties that are exact in theory)
mahcovs <- function(f, data, treat, discarded) {
  Z <- MatchIt:::transform_covariates(f, data = data, method = "mahalanobis",
                                      treat = setNames(as.integer(treat == 1), rownames(data)),
                                      discarded = discarded)
  mc <- data.frame(id = rownames(data), stringsAsFactors = FALSE)
  for (j in seq_len(ncol(Z))) mc[[paste0("z", j)]] <- num(Z[, j])
  mc
}
match_matrix <- function(m) {
  mm <- m$match.matrix
  res <- data.frame(treated_id = rownames(mm), stringsAsFactors = FALSE)
  for (j in seq_len(ncol(mm))) res[[paste0("control_", j)]] <- unname(mm[, j])
  res
}

# ------------------------------------------------------------------ lalonde, issue 16
cfg <- "k_nearest_mahvars_caliper025"
lalonde <- read.csv(data_path, stringsAsFactors = FALSE)
rownames(lalonde) <- lalonde$id
lalonde$race <- factor(lalonde$race, levels = c("black", "hispan", "white"))

m <- matchit(treat ~ age + educ + race + married + nodegree + re74 + re75, data = lalonde,
             method = "nearest", distance = "glm", estimand = "ATT", ratio = 1,
             replace = FALSE, caliper = 0.25, std.caliper = TRUE,
             mahvars = ~ age + educ + re74 + re75)

# per unit: id, treat, distance (the propensity score), weights, subclass (pair id)
units <- data.frame(id = lalonde$id, treat = lalonde$treat, distance = num(m$distance),
                    weights = num(m$weights), subclass = as.character(m$subclass),
                    discarded = m$discarded, stringsAsFactors = FALSE)
out(units, sprintf("%s_units.csv", cfg))
out(match_matrix(m), sprintf("%s_match_matrix.csv", cfg))
out(mahcovs(~ age + educ + re74 + re75, lalonde, lalonde$treat, m$discarded),
    sprintf("%s_mahcovs.csv", cfg))

# effect of re78 on the matched data, as MatchIt's vignette "Estimating Effects After Matching"
md <- match.data(m)
rows <- list()
for (model in c("adjusted", "unadjusted")) {
  f <- if (model == "adjusted") re78 ~ treat + age + educ + race + married + nodegree + re74 + re75
       else re78 ~ treat
  fit <- lm(f, data = md, weights = weights)
  for (vc in c("classical", "HC3", "CL_subclass_HC1")) {
    V <- switch(vc,
                classical = vcov(fit),
                HC3 = vcovHC(fit, type = "HC3"),
                CL_subclass_HC1 = vcovCL(fit, cluster = ~subclass, type = "HC1"))
    est <- coef(fit)[["treat"]]
    se <- sqrt(V["treat", "treat"])
    rows[[length(rows) + 1]] <- data.frame(
      config = cfg, model = model, formula = one_line(f), vcov = vc,
      estimate = num(est), se = num(se), t = num(est / se), df_resid = fit$df.residual,
      n_rows = nrow(md),
      n_clusters = if (vc == "CL_subclass_HC1") length(unique(md$subclass)) else NA,
      recommended = (model == "adjusted" && vc == "CL_subclass_HC1"),
      stringsAsFactors = FALSE)
  }
}
out(do.call(rbind, rows), sprintf("%s_effect.csv", cfg))

# the call, the raw caliper width and versions
info <- data.frame(
  item = c("call", "caliper_raw", "n_treated_matched", "n_control_matched",
           "R", "MatchIt", "sandwich", "lmtest", "rlang", "chk", "Rcpp", "BLAS", "LAPACK"),
  value = c(one_line(m$call), num(m$caliper[[1]]),
            sum(m$weights[lalonde$treat == 1] > 0), sum(m$weights[lalonde$treat == 0] > 0),
            R.version.string,
            sapply(c("MatchIt", "sandwich", "lmtest", "rlang", "chk", "Rcpp"),
                   function(p) as.character(packageVersion(p))),
            extSoftVersion()[["BLAS"]], paste(La_library(), La_version())),
  stringsAsFactors = FALSE)
out(info, sprintf("%s_versions.csv", cfg))

# ------------------------------------------------------------------ lalonde, all covariates
# distance = "mahalanobis" on the seven covariates: the race dummies make the pooled covariance
# singular, so MatchIt uses its SVD-based generalized inverse
out(mahcovs(~ age + educ + race + married + nodegree + re74 + re75, lalonde, lalonde$treat,
            rep(FALSE, nrow(lalonde))),
    "k_mahalanobis_full_mahcovs.csv")

# ------------------------------------------------------------------ simulated data
# integer ages and a three-level factor give many exact ties in the Mahalanobis distance
set.seed(7)
n <- 400
d <- data.frame(x1 = round(rnorm(n, 40, 10)), x2 = sample(8:16, n, TRUE),
                x3 = sample(c("a", "b", "c"), n, TRUE), x4 = rbinom(n, 1, 0.4),
                x5 = ifelse(runif(n) < 0.5, 0, round(rexp(n) * 1000)),
                x6 = sample(c("u", "v"), n, TRUE))
lp <- -1.2 + 0.03 * (d$x1 - 40) + 0.1 * (d$x2 - 12) + 0.5 * (d$x3 == "b") + 0.3 * d$x4
d$treat <- rbinom(n, 1, plogis(lp))
d$id <- paste0("u", 1:n)
rownames(d) <- d$id
out(d[c("id", "treat", "x1", "x2", "x3", "x4", "x5", "x6")], "k_synth_data.csv")
synth <- list(
  m1 = list(mahvars = ~ x1 + x2 + x5, caliper = 0.25),
  m3 = list(mahvars = ~ x1 + x3, caliper = 0.3, ratio = 2),
  m4 = list(mahvars = ~ x1 + x2 + x5, caliper = 0.5, discard = "both"),
  m5 = list(mahvars = ~ x1 + x2, exact = ~ x4)
)
for (nm in names(synth)) {
  m <- suppressWarnings(do.call(matchit, c(list(formula = treat ~ x1 + x2 + x3 + x4 + x5 + x6,
                                                data = d, method = "nearest"), synth[[nm]])))
  out(match_matrix(m), sprintf("k_synth_%s_match_matrix.csv", nm))
}
