# Reference values for pceval.sensitivity.rosenbaum_bounds from R sensitivitymw 2.1 and rbounds 2.2.
# Run (R 4.2.2; the packages installed from their CRAN sources into a private library):
#   R_LIBS_USER=/tmp/rlib Rscript tests/reference/rosenbaum/make_reference.R tests/reference/rosenbaum
# Writes mercury.csv, erpcp.csv (the data sets shipped in sensitivitymw), senmw.csv, binary_sets.csv,
# senmw_binary.csv and rbounds.csv.
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args)) args[1] else "."
suppressPackageStartupMessages({library(sensitivitymw); library(rbounds)})
cat("sensitivitymw", as.character(packageVersion("sensitivitymw")),
    "rbounds", as.character(packageVersion("rbounds")), "\n")
data(mercury); data(erpcp)
write.csv(mercury, file.path(out, "mercury.csv"), row.names = FALSE)
write.csv(erpcp, file.path(out, "erpcp.csv"), row.names = FALSE)

rows <- list()
add <- function(data, label, gamma, ...) {
  d <- get(data)
  r <- senmw(d, gamma = gamma, ...)
  a <- list(...)
  rows[[length(rows) + 1]] <<- data.frame(
    data = data, call = label, gamma = gamma,
    method = if (is.null(a[["method", exact = TRUE]])) "" else a[["method", exact = TRUE]],
    inner = if (is.null(a[["inner", exact = TRUE]])) NA else a[["inner", exact = TRUE]], trim = if (is.null(a[["trim", exact = TRUE]])) NA else a[["trim", exact = TRUE]],
    m1 = if (is.null(a[["m1", exact = TRUE]])) NA else a[["m1", exact = TRUE]], m2 = if (is.null(a[["m2", exact = TRUE]])) NA else a[["m2", exact = TRUE]], m = if (is.null(a[["m", exact = TRUE]])) NA else a[["m", exact = TRUE]],
    pval = r$pval, deviate = r$deviate, statistic = r$statistic,
    expectation = r$expectation, variance = r$variance)
}
# the examples of help(senmw), in order
add("mercury", "senmw(mercury,gamma=15)", 15)
add("mercury", "senmw(mercury,method='h',gamma=15)", 15, method = "h")
add("mercury", "senmw(mercury,method='w',gamma=15)", 15, method = "w")
add("mercury", "senmw(mercury,method='w',gamma=19)", 19, method = "w")
add("mercury", "senmw(mercury,method='l',gamma=20)", 20, method = "l")
for (mm in list(c(1,1,1), c(2,2,2), c(12,20,20), c(14,20,20), c(16,20,20), c(12,19,20), c(14,19,20), c(16,19,20)))
  add("mercury", sprintf("senmw(mercury,gamma=15,m1=%d,m2=%d,m=%d)", mm[1], mm[2], mm[3]), 15,
      m1 = mm[1], m2 = mm[2], m = mm[3])
for (g in c(2, 3, 4))
  add("erpcp", sprintf("senmw(erpcp,gamma=%d,trim=1,inner=0,m1=1,m2=1,m=1)", g), g,
      trim = 1, inner = 0, m1 = 1, m2 = 1, m = 1)
# beyond the examples: a grid of gamma with the default statistic, and the untrimmed mean ("t")
for (g in c(1, 1.5, 2, 5, 10)) add("mercury", sprintf("senmw(mercury,gamma=%g)", g), g)
for (g in c(1, 2, 5)) add("mercury", sprintf("senmw(mercury,gamma=%g,method='t')", g), g, method = "t")
for (g in c(1, 1.5, 2.5)) add("erpcp", sprintf("senmw(erpcp,gamma=%g)", g), g)
write.csv(do.call(rbind, rows), file.path(out, "senmw.csv"), row.names = FALSE)

# a 0/1 outcome in 1:2 matched sets (simulated here, stored in binary_sets.csv): senmw with no
# trimming (method "t") is the Mantel-Haenszel-type test on the raw outcomes
set.seed(19)
n <- 150
binary_sets <- data.frame(treated = rbinom(n, 1, 0.45), control1 = rbinom(n, 1, 0.3),
                          control2 = rbinom(n, 1, 0.3))
write.csv(binary_sets, file.path(out, "binary_sets.csv"), row.names = FALSE)
rows <- list()
for (g in c(1, 1.5, 2, 3)) add("binary_sets", sprintf("senmw(binary_sets,gamma=%g,method='t')", g), g, method = "t")
write.csv(do.call(rbind, rows), file.path(out, "senmw_binary.csv"), row.names = FALSE)

# rbounds 2.2: the examples of help(psens), help(binarysens) and help(mcontrol), as printed
# (the bounds are rounded by the functions themselves: psens and mcontrol to 4 decimals,
# binarysens to 5)
trt <- c(38, 23, 41, 18, 37, 36, 23, 62, 31, 34, 24, 14, 21, 17, 16, 20,
         15, 10, 45, 39, 22, 35, 49, 48, 44, 35, 43, 39, 34, 13, 73, 25, 27)
ctrl <- c(16, 18, 18, 24, 19, 11, 10, 15, 16, 18, 18, 13, 19, 10, 16,
          16, 24, 13, 9, 14, 21, 19, 7, 18, 19, 12, 11, 22, 25, 16, 13, 11, 13)
rb <- function(call, obj) data.frame(call = call, gamma = obj$bounds[, 1],
                                     lower = obj$bounds[, 2], upper = obj$bounds[, 3])
print(psens(trt, ctrl)); print(binarysens(12, 110))
rbo <- rbind(rb("psens(trt, ctrl)", psens(trt, ctrl)),
             rb("psens(trt, ctrl, Gamma = 3, GammaInc = 0.25)", psens(trt, ctrl, Gamma = 3, GammaInc = 0.25)),
             rb("binarysens(12, 110)", binarysens(12, 110)),
             rb("binarysens(12, 110, Gamma = 7, GammaInc = 0.5)", binarysens(12, 110, Gamma = 7, GammaInc = 0.5)))
write.csv(rbo, file.path(out, "rbounds.csv"), row.names = FALSE)
