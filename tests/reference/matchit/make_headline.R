# Reference output of MatchIt for the headline call of tests/test_matching.py (issue 16): nearest
# neighbour on the propensity score's caliper, exact on race, Mahalanobis distance on age and educ
# within it, common support by discard = "both".
#
# Usage (from the repository root, with MatchIt 4.7.2 installed):
#   Rscript tests/reference/matchit/make_headline.R tests/reference/matchit/lalonde.csv \
#       tests/reference/matchit
# Writes l_headline_units.csv (id, treat, distance, weights, subclass, discarded) and
# l_headline_summary.csv (caliper width, matched and discarded counts, package versions).

suppressPackageStartupMessages(library(MatchIt))
args <- commandArgs(trailingOnly = TRUE)
data_path <- if (length(args) >= 1) args[1] else "tests/reference/matchit/lalonde.csv"
out_dir <- if (length(args) >= 2) args[2] else "tests/reference/matchit"
num <- function(x) ifelse(is.na(x), NA_character_, sprintf("%.17g", x))

lalonde <- read.csv(data_path, stringsAsFactors = FALSE)
rownames(lalonde) <- lalonde$id
lalonde$race <- factor(lalonde$race, levels = c("black", "hispan", "white"))
m <- matchit(treat ~ age + educ + race + married + nodegree + re74 + re75, data = lalonde,
             method = "nearest", distance = "glm", estimand = "ATT", ratio = 1, replace = FALSE,
             caliper = 0.2, std.caliper = TRUE, exact = ~ race, mahvars = ~ age + educ,
             discard = "both")
units <- data.frame(id = rownames(lalonde), treat = lalonde$treat, distance = num(m$distance),
                    weights = num(m$weights), subclass = as.character(m$subclass),
                    discarded = m$discarded, stringsAsFactors = FALSE)
write.csv(units, file.path(out_dir, "l_headline_units.csv"), row.names = FALSE)
nn <- summary(m)$nn
summ <- data.frame(
  caliper_width = num(unname(m$caliper)),
  n_treated_matched = nn["Matched", "Treated"], n_control_matched = nn["Matched", "Control"],
  n_treated_discarded = nn["Discarded", "Treated"], n_control_discarded = nn["Discarded", "Control"],
  matchit = as.character(packageVersion("MatchIt")), r = R.version.string)
write.csv(summ, file.path(out_dir, "l_headline_summary.csv"), row.names = FALSE)
